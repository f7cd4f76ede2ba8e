/** cmd_queue's entry: the queue runner and warm shipper of cmd_archiver. */
import { main } from '../cli/queue-cli.js';

await main(process.argv.slice(2));
