// SPDX-License-Identifier: MIT
// A VS Code-style DAP session against `gdb -i dap` with libdefer's extension,
// driven by Microsoft's own test client (@vscode/debugadapter-testsupport).
//
//   node session.js ADAPTER PROGRAM MODE [EXCEPTION-BREAKPOINTS-JSON]
//
// ADAPTER is a script that execs gdb -i dap; PROGRAM MODE is the debuggee.
// Prints one JSON object: what each step of the session answered, for
// tests/gdb/test_dap.py to check.
'use strict';
const { DebugClient } = require('@vscode/debugadapter-testsupport');

async function main() {
	const [adapter, program, mode, filters] = process.argv.slice(2);
	const out = {};
	const dc = new DebugClient('/bin/sh', adapter, 'gdb');
	dc.defaultTimeout = 60000;
	await dc.start();
	// Each waiter is made before the request that causes its event: gdb may
	// send the event before the response.
	const initialized = dc.waitForEvent('initialized');
	const terminated = dc.waitForEvent('terminated', 120000).then(() => null, () => null);
	try {
		const init = await dc.initializeRequest({ adapterID: 'gdb', linesStartAt1: true,
			columnsStartAt1: true, supportsVariableType: true });
		out.filters = (init.body.exceptionBreakpointFilters || []).map(f => f.filter);
		out.exceptionInfo = !!init.body.supportsExceptionInfoRequest;
		// gdb answers launch only after configurationDone.
		const launched = dc.launchRequest({ program, args: [mode] });
		await initialized;
		const ex = await dc.setExceptionBreakpointsRequest(filters ? JSON.parse(filters) : {
			filters: ['libdefer-panic', 'libdefer-unrecovered'] });
		out.exceptionBreakpoints = ex.body.breakpoints;
		await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'seen_middle' }] });
		let stopped = dc.waitForEvent('stopped');
		await dc.configurationDoneRequest();
		await launched;
		out.stops = [];
		for (let i = 0; i < 6; i++) {
			const ev = await Promise.race([stopped, terminated]);
			if (ev === null) { out.terminated = true; break; }
			const stop = { reason: ev.body.reason, text: ev.body.text,
				description: ev.body.description };
			const tid = ev.body.threadId;
			if (ev.body.reason === 'exception') {
				stop.info = (await dc.exceptionInfoRequest({ threadId: tid })).body;
				// What a client shows for the exception's value.
				const name = stop.info.details && stop.info.details.evaluateName;
				if (name)
					stop.evaluated = (await dc.evaluateRequest({ expression: name,
						context: 'watch' })).body;
			}
			const all = await dc.stackTraceRequest({ threadId: tid, format: { includeAll: true } });
			stop.framesAll = all.body.stackFrames.map(f => f.name);
			const st = await dc.stackTraceRequest({ threadId: tid });
			stop.frames = [];
			for (const f of st.body.stackFrames) {
				const frame = { name: f.name, scopes: {} };
				let scopes;
				try {
					scopes = await dc.scopesRequest({ frameId: f.id });
				} catch (e) {
					frame.error = String(e.message || e);
					stop.frames.push(frame);
					continue;
				}
				for (const s of scopes.body.scopes) {
					if (s.name === 'Registers' || s.name === 'Globals') continue;
					// gdb itself fails on some values (optimized out in the
					// runtime's -O2 frames): record it and go on.
					let vars;
					try {
						vars = await dc.variablesRequest({ variablesReference: s.variablesReference });
					} catch (e) {
						frame.scopes[s.name] = String(e.message || e);
						continue;
					}
					frame.scopes[s.name] = [];
					for (const v of vars.body.variables) {
						const item = { name: v.name, value: v.value };
						if (v.variablesReference) {
							try {
								const kids = await dc.variablesRequest({
									variablesReference: v.variablesReference });
								item.children = kids.body.variables.map(k => [k.name, k.value]);
							} catch (e) {
								item.children = String(e.message || e);
							}
						}
						frame.scopes[s.name].push(item);
					}
				}
				stop.frames.push(frame);
			}
			const ev2 = await dc.evaluateRequest({ expression: 'info defers', context: 'repl' });
			stop.repl = ev2.body.result;
			out.stops.push(stop);
			stopped = dc.waitForEvent('stopped');
			await dc.continueRequest({ threadId: tid });
		}
	} finally {
		await dc.stop().catch(() => {});
	}
	// Exit now: the waiters still pending (the next stop that never came)
	// would keep node alive until their timeouts.
	process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

main().catch(e => { process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + '\n');
	process.exit(1); });
