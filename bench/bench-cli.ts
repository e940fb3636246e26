// Placeholder until the bench issue lands.
process.stderr.write('bench: no scenarios yet\n');
process.exit(2);
