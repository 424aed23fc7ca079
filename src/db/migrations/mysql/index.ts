import { discoverMigrations } from '../discover';

/** This folder: `npm run migration:create` writes mysql migrations here. */
export const mysqlMigrationsPath = __dirname;

/** Every migration file of this folder, applied in the order of their names at start-up. */
export const mysqlMigrations = discoverMigrations(__dirname);
