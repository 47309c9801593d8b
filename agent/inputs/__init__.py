"""Inputs: where lines come from. One module per kind (files, journald); each turns what it
reads into stamped chunks and hands them to delivery with the mark that commits them."""
