/** Entry point of the `vmamirror` bin: the command runs in a worker thread (host.ts). */
import { runCommand } from './host.js';

runCommand(process.argv.slice(2));
