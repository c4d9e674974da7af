// Child for the runtime-profile test: prints the profile of the node it runs in.
import { runtimeProfile } from '../../agent/runtime-profile.js';

process.stdout.write(runtimeProfile() + '\n');
