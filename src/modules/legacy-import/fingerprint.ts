import { digest } from './clean';
import type { OldDirectory, OldGoods, OldLog, OldUser } from './model';

/**
 * What `legacy_imports.fingerprint` keeps of an old row: enough to tell, on the next run, which of its
 * fields the old system changed since (text as a digest, numbers as they were). A run applies only
 * those differences, so that what was changed in scancode meanwhile is not undone.
 */

export interface UserPrint {
  nickname: string;
  gender: string;
  city: string;
  province: string;
}

export interface DirectoryPrint {
  name: string;
  status: string;
  freq: number;
}

export interface GoodsPrint {
  directory: number;
  code: string;
  name: string;
  remarks: string;
  count: number;
}

export interface LogPrint {
  type: string;
  directory: number | null;
  goods: number | null;
}

export const userPrint = (u: OldUser): UserPrint => ({ nickname: digest(u.nickname), gender: u.gender, city: digest(u.city), province: digest(u.province) });

export const directoryPrint = (d: OldDirectory): DirectoryPrint => ({ name: digest(d.name), status: d.status, freq: d.freq });

export const goodsPrint = (g: OldGoods): GoodsPrint => ({ directory: g.belongId, code: digest(g.code), name: digest(g.name), remarks: digest(g.remarks), count: g.count });

export const logPrint = (l: OldLog): LogPrint => ({ type: l.type, directory: l.dirId, goods: l.goodId });

/** The stored form: JSON, so that an operator reading `legacy_imports` can see what was compared. */
export const serialize = (print: UserPrint | DirectoryPrint | GoodsPrint | LogPrint): string => JSON.stringify(print);

/** The fingerprint written by an earlier run; written only by this module, so its shape is known. */
export function parsePrint<T extends UserPrint | DirectoryPrint | GoodsPrint | LogPrint>(stored: string): T {
  return JSON.parse(stored) as T;
}
