/** What clients see of goods, directories and changes: the contract's shapes, under the domain's names. */
export type { Goods as GoodsView, Directory as DirectoryView, Change, ScanResult, ScanInput, ScanOp } from '../../contract';

/** Who is making a change: the user and, when known, the device of the session. */
export interface Actor {
  userId: number;
  deviceId: string | null;
}
