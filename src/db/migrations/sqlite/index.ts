import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124000000Initial } from './Migration20261124000000Initial';
import { Migration20261125000000LongCodes } from './Migration20261125000000LongCodes';
import { Migration20261125000100LegacyImports } from './Migration20261125000100LegacyImports';

/** Applied in this order at start-up; a new migration is appended here. */
export const sqliteMigrations: MigrationObject[] = [
  { name: 'Migration20261124000000Initial', class: Migration20261124000000Initial },
  { name: 'Migration20261125000000LongCodes', class: Migration20261125000000LongCodes },
  { name: 'Migration20261125000100LegacyImports', class: Migration20261125000100LegacyImports },
];
