export { closeAgainstZombie, zombieDetection, type CloseZombieOptions, type CloseZombieResult, type ZombieOptions, type ZombieResult } from './zombie';
export { reconnectStorm, spread, type Spread, type StormOptions, type StormResult } from './storm';
export { offlineFlood, type FloodOptions, type FloodResult } from './flood';
export { soakCycles, type SoakOptions, type SoakResult } from './soak';
