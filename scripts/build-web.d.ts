/** Builds the dashboard into dist/web when missing or stale (see build-web.js); true when a current build is there. */
export function ensureDashboard(options?: { force?: boolean; log?: (text: string) => void }): boolean;
/** The JavaScript index.html loads at once, gzipped (bytes), and how many files. */
export function firstPageWeight(): { files: number; gzip: number };
