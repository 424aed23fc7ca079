import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { MigrationObject } from '@mikro-orm/core';

type MigrationClass = MigrationObject['class'];

/**
 * The migrations of one folder in the order of their names (`Migration<UTC timestamp>[_name]`, as
 * `npm run migration:create` writes them), so that a new file is applied at the next start with no
 * list to edit by hand. Only files of this module's own kind are read: `.ts` under ts-jest and ts-node
 * (the MikroORM CLI), `.js` once compiled, never the `.d.ts` or `.map` beside them.
 */
export function discoverMigrations(dir: string): MigrationObject[] {
  const pattern = new RegExp(`^(Migration\\d{14}\\w*)\\${extname(__filename)}$`);
  const names = readdirSync(dir)
    .map((file) => pattern.exec(file)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
  return names.map((name) => {
    // A synchronous require: the list is needed when the ORM's options are built, which is synchronous.
    const exported = (require(join(dir, name)) as Record<string, unknown>)[name];
    if (typeof exported !== 'function') throw new Error(`${join(dir, name)} must export a migration class named ${name}`);
    return { name, class: exported as MigrationClass };
  });
}
