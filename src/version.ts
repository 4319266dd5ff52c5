/** Flotilla's version, as `flotilla --version` prints it and labels record it. */
export const VERSION = '0.1.0';
