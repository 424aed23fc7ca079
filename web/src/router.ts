import { computed, ref } from 'vue';

/**
 * Hash routing (`#/d/3/history`): the server serves one page at /app/ and never sees the route, so a
 * reload or a bookmark works without any server-side fallback.
 */
export type Route = { page: 'login' } | { page: 'directories' } | { page: 'alerts' } | { page: 'goods' | 'history' | 'charts' | 'members' | 'counts' | 'csv'; directoryId: number };

export type DirectoryPage = Extract<Route, { directoryId: number }>['page'];
export const DIRECTORY_PAGES: DirectoryPage[] = ['goods', 'history', 'charts', 'members', 'counts', 'csv'];

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/login') return { page: 'login' };
  if (path === '/alerts') return { page: 'alerts' };
  const match = /^\/d\/(\d+)(?:\/(\w+))?$/.exec(path);
  if (match) {
    const sub = (match[2] ?? 'goods') as DirectoryPage;
    if (DIRECTORY_PAGES.includes(sub)) return { page: sub, directoryId: Number(match[1]) };
  }
  return { page: 'directories' };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'login':
      return '#/login';
    case 'directories':
      return '#/';
    case 'alerts':
      return '#/alerts';
    case 'goods':
      return `#/d/${route.directoryId}`;
    case 'history':
    case 'charts':
    case 'members':
    case 'counts':
    case 'csv':
      return `#/d/${route.directoryId}/${route.page}`;
  }
}

const hash = ref(location.hash);
window.addEventListener('hashchange', () => (hash.value = location.hash));

export const route = computed(() => parseRoute(hash.value));

export function go(to: Route): void {
  location.hash = hrefOf(to);
}
