// Public surface of the simulator: start servers and fleets in-process, and the pieces tests and benchmarks reuse.

export { startSimServer, startSimFleet, parseHostPort } from './server';
export type { SimServer, SimFleet, SimServerOptions } from './server';
export { DEFAULT_OPTIONS, DEFAULT_FAULTS, ENGINE_FLAVORS, SIM_ROLES, resolveOptions } from './options';
export type { SimOptions, SimOptionsInput, SimFaults, EngineFlavor, OutputMode, SimRole } from './options';
export { PREFILLER_HEADER, PREFILLED_BY_HEADER, prefillBody } from './disagg';
export { Engine } from './engine';
export type { EngineStats, SeqRequest, Admission } from './engine';
export { KvCache } from './kvcache';
export { LoraSlots } from './lora';
export { parseExposition } from './prometheus';
