/** `npm run config-table`: print the README's configuration table from the settings registry. */
import { configTable } from '../shared/config.js';

console.log(configTable());
