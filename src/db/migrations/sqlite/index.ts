import { discoverMigrations } from '../discover';

/** This folder: `npm run migration:create` writes sqlite migrations here. */
export const sqliteMigrationsPath = __dirname;

/** Every migration file of this folder, applied in the order of their names at start-up. */
export const sqliteMigrations = discoverMigrations(__dirname);
