/* abidiff's stand-in for the Windows SDK's <io.h>: PC/pyconfig.h includes it; nothing
   declared here is part of Python's C API, so the stub is empty. */
#ifndef ABIDIFF_WINSTUB_IO_H
#define ABIDIFF_WINSTUB_IO_H
#endif
