export { nameElementChanges, slotKey } from './element-changes.js';
export { HEALTH_INTERVAL_MS, HEALTH_TIMEOUT_MS, HealthTracker } from './health.js';
export { NAME_BOUNDS, NameLoop, type NameLoopOptions } from './name-loop.js';
export { healthPort, type NameSlots, planNameChanges, wantedAddresses } from './name-maps.js';
export { type Probe, tcpProbe } from './probe.js';
export { runLegacyWithNames } from './run-legacy.js';
