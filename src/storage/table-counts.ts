import type Database from "better-sqlite3";
/** Table names and row counts of a database, for the inspector. */
export function tableCounts(db: Database.Database): Array<{ name: string; rows: number }> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
  return tables.map((t) => ({ name: t.name, rows: (db.prepare(`SELECT COUNT(*) AS n FROM "${t.name.replace(/"/g, '""')}"`).get() as { n: number }).n }));
}
