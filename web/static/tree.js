// tree.js: the tracer -> runs tree in the sidebar.  Every name from the
// data goes in through textContent, never as HTML.

import { formatDuration, formatWhen } from './format.js';

const collapsed = new Set();	// tracers the user folded, kept across refreshes

function runItem(run, selectedRun, onSelect) {
	const li = document.createElement('li');
	li.className = 'run-item';
	li.dataset.run = run.run;
	if (run.run === selectedRun)
		li.classList.add('selected');
	const button = document.createElement('button');
	button.type = 'button';
	button.title = run.run;
	const when = document.createElement('span');
	when.className = 'run-when';
	when.textContent = formatWhen(run.started ?? run.last_seen);
	const dur = document.createElement('span');
	dur.className = 'run-dur';
	dur.textContent = formatDuration(run.duration);
	button.append(when, dur);
	if (run.state === 'active') {
		const live = document.createElement('span');
		live.className = 'live';
		live.textContent = 'live';
		button.append(live);
	}
	button.addEventListener('click', () => onSelect(run.run));
	li.append(button);
	return li;
}

export function renderTree(container, tree, selectedRun, onSelect) {
	const items = [];
	for (const tracer of tree) {
		const name = tracer.tracer ?? '(unnamed)';
		const li = document.createElement('li');
		li.className = 'tracer';
		li.dataset.tracer = name;
		if (collapsed.has(name))
			li.classList.add('collapsed');
		const label = document.createElement('span');
		label.className = 'tracer-name';
		label.textContent = name;
		label.addEventListener('click', () => {
			li.classList.toggle('collapsed');
			if (li.classList.contains('collapsed'))
				collapsed.add(name);
			else
				collapsed.delete(name);
		});
		const runs = document.createElement('ul');
		for (const run of tracer.runs)
			runs.append(runItem(run, selectedRun, onSelect));
		li.append(label, runs);
		items.push(li);
	}
	container.replaceChildren(...items);
}

// The runs of the tracer that holds `uuid`, newest first.
export function siblingRuns(tree, uuid) {
	for (const tracer of tree)
		if (tracer.runs.some((r) => r.run === uuid))
			return tracer.runs;
	return [];
}
