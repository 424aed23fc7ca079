import { parseDatabaseUrl } from './src/config';
import { ormOptions } from './src/db/orm';

/**
 * For MikroORM's CLI (`npx mikro-orm debug`, `npm run migration:create`), read through ts-node: the same
 * options as the server for the database DATABASE_URL names (default the embedded SQLite file), its
 * driver included. Migrations live in `src/db/migrations/<mysql|sqlite>/`, and the server applies every
 * file there at its next start. As on the server, NODE_ENV=production never creates a missing database.
 */
export default ormOptions(parseDatabaseUrl(process.env.DATABASE_URL), { createDatabase: process.env.NODE_ENV !== 'production' });
