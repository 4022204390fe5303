/**
 * hookvault's own look for /docs instead of swagger-ui's default branding: page title, top-bar logo,
 * favicon and a few colours. Inline strings rather than files, so the production bundle (dist/, which
 * carries no src/) serves them too. Fed to @fastify/swagger-ui's `theme` and `logo` options:
 * https://github.com/fastify/fastify-swagger-ui#theme
 */

export const DOCS_TITLE = 'hookvault API'

const ACCENT = '#0f766e'

/** The mark: a vault door (ring and dial) on a rounded square. */
const MARK = `<rect x="2" y="4" width="32" height="32" rx="7" fill="${ACCENT}"/>` +
  '<circle cx="18" cy="20" r="8.5" fill="none" stroke="#fff" stroke-width="3"/>' +
  '<path d="M18 20 L23 15" stroke="#fff" stroke-width="3" stroke-linecap="round"/>'

/** Top-bar logo: the mark and the name, white on the dark bar. */
export const LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="176" height="40" viewBox="0 0 176 40" role="img" aria-label="hookvault">' +
  MARK +
  '<text x="44" y="28" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="22" font-weight="600" fill="#fff">hookvault</text>' +
  '</svg>'

/** The mark alone, as the tab icon. */
export const FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="2 4 32 32">' + MARK + '</svg>'

/**
 * The top bar in the service's colours, and without swagger-ui's "explore" box (a field to load any
 * other document by URL): this page documents this service only.
 */
export const THEME_CSS = [
  `.swagger-ui .topbar { background-color: #12312e; border-bottom: 3px solid ${ACCENT}; }`,
  '.swagger-ui .topbar .download-url-wrapper { display: none; }',
  `.swagger-ui .info .title small.version-stamp { background-color: ${ACCENT}; }`
].join('\n')
