/** Cursor = `<database instance id>.<version>`. Opaque to clients. */
export interface Cursor {
  instanceId: string;
  version: number;
}

const CURSOR = /^([0-9a-f]{32})\.(0|[1-9][0-9]{0,14})$/;

export function formatCursor(c: Cursor): string {
  return `${c.instanceId}.${c.version}`;
}

export function parseCursor(value: string): Cursor | null {
  const m = CURSOR.exec(value);
  return m ? { instanceId: m[1]!, version: Number(m[2]) } : null;
}
