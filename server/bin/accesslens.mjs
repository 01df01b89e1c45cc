#!/usr/bin/env node
// The server package's `accesslens` bin: runs the TypeScript CLI through tsx, in the caller's directory
// (so relative paths such as `import people people.csv` mean what the caller typed).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
