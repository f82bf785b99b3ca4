/** Entry point of the `vmamirror` bin. */
import { main } from './main.js';

process.exitCode = main(process.argv.slice(2));
