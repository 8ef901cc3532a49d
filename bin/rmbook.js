#!/usr/bin/env node
// Runs cmd/rmbook.ts through tsx's loader, so the TypeScript sources run as they are (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../cmd/rmbook.ts');
