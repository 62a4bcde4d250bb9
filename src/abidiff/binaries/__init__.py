"""Readers of exported symbol tables: ELF (pyelftools), PE (pefile), Mach-O (macholib)."""
