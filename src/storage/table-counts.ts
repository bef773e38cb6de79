import type Database from "better-sqlite3";
/** Table names and row counts of a database, for the inspector. */
export function tableCounts(db: Database.Database): Array<{ name: string; rows: number }> {
  // Troupe's own tables (the turn redo records) are not the user's.
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_troupe\\_%' ESCAPE '\\' ORDER BY name").all() as Array<{ name: string }>;
  return tables.map((t) => ({ name: t.name, rows: (db.prepare(`SELECT COUNT(*) AS n FROM "${t.name.replace(/"/g, '""')}"`).get() as { n: number }).n }));
}
