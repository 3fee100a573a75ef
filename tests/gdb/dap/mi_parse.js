// SPDX-License-Identifier: MIT
// Parse a GDB/MI transcript with Eclipse CDT's MI parser (npm
// cdt-gdb-adapter, what its VS Code and Theia adapters use), as a front end
// reading gdb's output would.
//
//   node mi_parse.js TRANSCRIPT     (one MI output line per line; commands
//                                    sent are lines starting with "> ")
//
// Prints JSON: the result records by command, the exec/notify async records.
'use strict';
const fs = require('fs');
const { EventEmitter } = require('events');
const { MIParser } = require('cdt-gdb-adapter/dist/MIParser');

const gdb = new EventEmitter();
const parser = new MIParser(gdb);
const out = { results: [], exec: [], notify: [], console: 0 };
gdb.on('execAsync', (cls, data) => out.exec.push([cls, data]));
gdb.on('notifyAsync', (cls, data) => out.notify.push([cls, data]));
gdb.on('consoleStreamOutput', () => { out.console++; });
for (const line of fs.readFileSync(process.argv[2], 'utf8').split('\n')) {
	const sent = /^> (\d+)(.*)$/.exec(line);
	if (sent) {
		parser.queueCommand(sent[1], sent[2], (cls, data) =>
			out.results.push({ command: sent[2], cls, data }));
	} else if (line && line !== '(gdb) ') {
		parser.parseLine(line);
	}
}
process.stdout.write(JSON.stringify(out) + '\n');
