/** What every long-running command shares: logging, following mounted files, the admin endpoints. */
export { type AdminServer, type AdminServerOptions, startAdminServer } from './admin-server.js';
export { type FileFollower, followFile, WATCH_POLL_MS } from './follow-file.js';
export { createLogger, type Logger } from './logger.js';
