// format.js: how times, durations and counts are shown.

export function epochOf(iso) {
	return iso == null ? null : Date.parse(iso) / 1000;
}

export function formatWhen(iso) {
	if (iso == null)
		return '—';
	const d = new Date(iso);
	return d.toLocaleString(undefined, {
		year: 'numeric', month: 'short', day: '2-digit',
		hour: '2-digit', minute: '2-digit', second: '2-digit',
	});
}

export function formatDuration(seconds) {
	if (seconds == null || !isFinite(seconds))
		return '—';
	let s = Math.round(seconds);
	const h = Math.floor(s / 3600);
	s -= h * 3600;
	const m = Math.floor(s / 60);
	s -= m * 60;
	if (h > 0)
		return `${h}h ${String(m).padStart(2, '0')}m`;
	if (m > 0)
		return `${m}m ${String(s).padStart(2, '0')}s`;
	return `${s}s`;
}

export function formatCount(n) {
	return n == null ? '—' : Number(n).toLocaleString();
}
