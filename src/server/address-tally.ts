import { errors, type TroupeError } from "../common/errors.js";

/** Counts open connections in total and per client address, refusing any past either cap. */
export class AddressTally {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Counts one more connection for `address`, or says why it may not open. */
  admit(address: string): TroupeError | undefined {
    if (this.total >= this.maxTotal) return errors.serverAtCapacity(this.maxTotal);
    const n = this.byAddress.get(address) ?? 0;
    if (n >= this.maxPerAddress) return errors.tooManyConnections(this.maxPerAddress);
    this.total++;
    this.byAddress.set(address, n + 1);
    return undefined;
  }

  release(address: string): void {
    const n = this.byAddress.get(address);
    if (n === undefined) return;
    this.total--;
    if (n <= 1) this.byAddress.delete(address);
    else this.byAddress.set(address, n - 1);
  }
}
