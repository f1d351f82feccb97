// Package dataset holds the file formats of a leadflow data set and their
// loaders: the IP database's record (IPRecord, read by the enrich stage),
// companies, contacts and networks as JSON lines, and the manifest that marks
// a directory complete. Production reads a data set through this package;
// schemas/sampledata generates one (the sample set `leadflow datagen`
// writes) in these formats.
package dataset
