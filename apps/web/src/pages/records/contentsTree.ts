/**
 * The file list of a backup (archive-relative paths from its manifest) as a tree for the contents
 * browser, and the reduction of a checked set to the paths a selective restore needs.
 */

export interface ContentsEntry {
  path: string;
  size: number;
  isDir: boolean;
}

export interface ContentsNode {
  /** The archive path: usable as a `selectedPaths` item. */
  key: string;
  name: string;
  isDir: boolean;
  size: number;
  /** Files below a directory (recursively). */
  fileCount: number;
  children?: ContentsNode[];
}

const clean = (path: string): string =>
  path
    .replace(/\\/g, '/')
    .replace(/^\.?\/+/, '')
    .replace(/\/+$/, '');

/**
 * Builds the tree. Directories missing from the list (e.g. the source roots, which are not
 * archive entries themselves) are created; directories come first, then names in order.
 */
export function buildContentsTree(entries: readonly ContentsEntry[]): ContentsNode[] {
  const root: ContentsNode = { key: '', name: '', isDir: true, size: 0, fileCount: 0, children: [] };
  const byPath = new Map<string, ContentsNode>([['', root]]);

  const ensureDir = (path: string): ContentsNode => {
    const existing = byPath.get(path);
    if (existing) {
      if (!existing.isDir) {
        existing.isDir = true;
        existing.children = [];
      }
      return existing;
    }
    const slash = path.lastIndexOf('/');
    const parent = ensureDir(slash === -1 ? '' : path.slice(0, slash));
    const node: ContentsNode = {
      key: path,
      name: path.slice(slash + 1),
      isDir: true,
      size: 0,
      fileCount: 0,
      children: [],
    };
    parent.children?.push(node);
    byPath.set(path, node);
    return node;
  };

  for (const entry of entries) {
    const path = clean(entry.path);
    if (path === '') continue;
    if (entry.isDir) {
      ensureDir(path);
      continue;
    }
    if (byPath.has(path)) continue;
    const slash = path.lastIndexOf('/');
    const parent = ensureDir(slash === -1 ? '' : path.slice(0, slash));
    const node: ContentsNode = {
      key: path,
      name: path.slice(slash + 1),
      isDir: false,
      size: entry.size,
      fileCount: 1,
    };
    parent.children?.push(node);
    byPath.set(path, node);
  }

  const finish = (node: ContentsNode): void => {
    if (!node.children) return;
    let size = 0;
    let files = 0;
    for (const child of node.children) {
      finish(child);
      size += child.size;
      files += child.fileCount;
    }
    node.size = size;
    node.fileCount = files;
    node.children.sort((a, b) => (a.isDir === b.isDir ? a.name.localeCompare(b.name) : a.isDir ? -1 : 1));
    if (!node.isDir) delete node.children;
  };
  finish(root);
  return root.children ?? [];
}

/**
 * The smallest list of paths covering a checked set: a path whose ancestor is also checked is
 * dropped (restoring a directory restores everything below it).
 */
export function minimalSelection(paths: readonly string[]): string[] {
  const unique = [...new Set(paths.map(clean).filter((path) => path !== ''))];
  const checked = new Set(unique);
  const hasCheckedAncestor = (path: string): boolean => {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      if (checked.has(path.slice(0, slash))) return true;
    }
    return false;
  };
  return unique.filter((path) => !hasCheckedAncestor(path)).sort();
}
