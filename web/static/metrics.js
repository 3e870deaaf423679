// metrics.js: a run's metrics in groups -- dolon's built-in metrics, the
// three of each @profiler function, the rest -- and the patterns of the
// metric filter.

// What dolon's tracers measure by themselves (dolon/builtin_metrics.py),
// and the resident memory the profiler sends.
const BUILT_INS = new Set([
	'cpu_percent', 'virtual_memory_percent', 'memory_use', 'process_cpu_percent',
	'thread_count', 'open_fds', 'gc_collections', 'mem_allocation', 'active_tasks',
	'event_loop_lag_ms', 'tracer_cost_us', 'rss_bytes',
]);

// A function decorated with @profiler feeds <name>_hits,
// <name>_active_instances and <name>_average_time.
const PROFILER_SUFFIXES = ['_hits', '_active_instances', '_average_time'];

function profilerFunction(name) {
	for (const suffix of PROFILER_SUFFIXES)
		if (name.endsWith(suffix) && name.length > suffix.length)
			return name.slice(0, -suffix.length);
	return null;
}

// [{name, metrics: [...]}] in this order: built-ins, one group per
// @profiler function (by name), the rest.  A name that merely ends like a
// profiler metric, without a sibling, stays with the rest.  Metrics keep
// their order within a group.
export function groupMetrics(names) {
	const perFunction = new Map();
	for (const name of names) {
		const fn = profilerFunction(name);
		if (fn != null && !BUILT_INS.has(name))
			perFunction.set(fn, (perFunction.get(fn) ?? 0) + 1);
	}
	const builtIn = [];
	const custom = [];
	const functions = new Map();
	for (const name of names) {
		const fn = profilerFunction(name);
		if (BUILT_INS.has(name))
			builtIn.push(name);
		else if (fn != null && perFunction.get(fn) > 1) {
			if (!functions.has(fn))
				functions.set(fn, []);
			functions.get(fn).push(name);
		} else
			custom.push(name);
	}
	const groups = [];
	if (builtIn.length)
		groups.push({ name: 'Built-in', metrics: builtIn });
	for (const fn of [...functions.keys()].sort())
		groups.push({ name: `@profiler ${fn}`, metrics: functions.get(fn) });
	if (custom.length)
		groups.push({ name: groups.length ? 'Custom' : 'Metrics', metrics: custom });
	return groups;
}

function globToRegExp(glob) {
	const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&');
	return new RegExp(`^${escaped.replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

// A test of metric names for the filter's text: words, any of which may
// match.  A word with * or ? is a glob over the whole name, /.../ a regular
// expression, anything else a part of the name; case is ignored.  Null
// for an empty filter; throws for a bad regular expression.
export function metricMatcher(text) {
	const words = (text ?? '').trim().split(/\s+/).filter(Boolean);
	if (!words.length)
		return null;
	const tests = words.map((word) => {
		const re = /^\/(.+)\/([a-z]*)$/.exec(word);
		if (re)		// g and y would make test() remember where it stopped
			return new RegExp(re[1], [...new Set(`${re[2]}i`.replace(/[gy]/g, ''))].join(''));
		if (/[*?]/.test(word))
			return globToRegExp(word);
		const part = word.toLowerCase();
		return { test: (name) => name.toLowerCase().includes(part) };
	});
	return (name) => tests.some((t) => t.test(name));
}
