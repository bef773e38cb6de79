// TEMPORARY: replaced by the metrics-engine glue once src/metrics lands.
import type { Logger } from "pino";
import type { ActorTypeMetrics } from "../actor/metrics-port.js";

export type MetricsFormat = "prometheus" | "openmetrics";
export interface MetricsConfig {
  token?: string;
  auth?: "bearer" | "none";
  enabled?: boolean;
}
export interface RegistryMetrics {
  forActorType(name: string, actions: string[]): ActorTypeMetrics | undefined;
  render(format?: MetricsFormat): Promise<string>;
  negotiateFormat(accept: string | null): MetricsFormat;
  contentTypeFor(format: MetricsFormat): string;
  auth: unknown;
  stop(): void;
}
export function createRegistryMetrics(_config: MetricsConfig | undefined, _o: { version: string; mode: string; logger: Logger }): RegistryMetrics {
  return {
    forActorType: () => undefined,
    render: async () => "",
    negotiateFormat: () => "prometheus",
    contentTypeFor: () => "text/plain",
    auth: undefined,
    stop: () => {},
  };
}
