import type { LogType } from './entities';

/** What clients see of goods, directories and changes (SPEC.md's shapes). */
export interface GoodsView {
  id: number;
  code: string;
  name: string;
  remarks: string;
  count: number;
}

export interface DirectoryView {
  id: number;
  name: string;
  freq: number;
  revision: number;
  goodsCount: number;
  totalCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface Change {
  revision: number;
  type: Exclude<LogType, 'create'>;
  code?: string;
  goods?: GoodsView;
  delta?: number;
  directory?: { id: number; name: string };
  eventId?: string;
  userId: number;
  deviceId?: string;
  at: string;
}

export interface ScanResult {
  goods: GoodsView;
  delta: number;
  revision: number;
  created: boolean;
  duplicate: boolean;
}

export type ScanOp = 'in' | 'out' | 'set';

export interface ScanInput {
  directoryId: number;
  op: ScanOp;
  code: string;
  qty?: number;
  name?: string;
  remarks?: string;
  eventId?: string;
}

/** Who is making a change: the user and, when known, the device of the session. */
export interface Actor {
  userId: number;
  deviceId: string | null;
}
