/** The Backint catalog: EBID → object key, in SQLite (`backint_catalog`, SPEC §3.21). */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export interface CatalogEntry {
  ebid: string;
  objectKey: string;
  sourcePath: string;
  /** Bytes read from the source (-1 when unknown). */
  size: number;
  createdAt: Date;
}

interface CatalogRow {
  ebid: string;
  object_key: string;
  source_path: string;
  size: number | bigint;
  created_at: number | bigint;
}

const toEntry = (row: CatalogRow): CatalogEntry => ({
  ebid: row.ebid,
  objectKey: row.object_key,
  sourcePath: row.source_path,
  size: Number(row.size),
  createdAt: new Date(Number(row.created_at)),
});

export class BackintCatalog {
  private readonly db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** Opens (creating when needed) the catalog database. */
  static open(file: string): BackintCatalog {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new DatabaseSync(file, { timeout: 5000 });
    db.exec(`CREATE TABLE IF NOT EXISTS backint_catalog (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      ebid TEXT NOT NULL UNIQUE CHECK (length(ebid) <= 128),
      object_key TEXT NOT NULL CHECK (length(object_key) <= 512),
      source_path TEXT NOT NULL DEFAULT '' CHECK (length(source_path) <= 1024),
      size INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL
    )`);
    db.exec('CREATE INDEX IF NOT EXISTS backint_catalog_created ON backint_catalog (created_at)');
    return new BackintCatalog(db);
  }

  /** Inserts or replaces the entry of an EBID. */
  put(entry: CatalogEntry): void {
    this.db
      .prepare(
        `INSERT INTO backint_catalog (ebid, object_key, source_path, size, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (ebid) DO UPDATE SET object_key = excluded.object_key, source_path = excluded.source_path,
           size = excluded.size, created_at = excluded.created_at`,
      )
      .run(entry.ebid, entry.objectKey, entry.sourcePath, entry.size, entry.createdAt.getTime());
  }

  get(ebid: string): CatalogEntry | null {
    const row = this.db.prepare('SELECT * FROM backint_catalog WHERE ebid = ?').get(ebid) as
      CatalogRow | undefined;
    return row === undefined ? null : toEntry(row);
  }

  /** Every entry, newest first. */
  list(): CatalogEntry[] {
    return (
      this.db
        .prepare('SELECT * FROM backint_catalog ORDER BY created_at DESC, id DESC')
        .all() as unknown as CatalogRow[]
    ).map(toEntry);
  }

  /** Removes an entry; true when one existed. */
  delete(ebid: string): boolean {
    return Number(this.db.prepare('DELETE FROM backint_catalog WHERE ebid = ?').run(ebid).changes) > 0;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
