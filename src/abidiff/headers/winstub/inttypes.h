/* abidiff winstub: <inttypes.h> of MSVC (LLP64). */
#ifndef ABIDIFF_WINSTUB_INTTYPES_H
#define ABIDIFF_WINSTUB_INTTYPES_H
#include <stdint.h>
#define PRId32 "d"
#define PRIi32 "i"
#define PRIu32 "u"
#define PRIx32 "x"
#define PRId64 "lld"
#define PRIi64 "lli"
#define PRIu64 "llu"
#define PRIx64 "llx"
#ifdef _WIN64
#define PRIdPTR "lld"
#define PRIuPTR "llu"
#define PRIxPTR "llx"
#else
#define PRIdPTR "d"
#define PRIuPTR "u"
#define PRIxPTR "x"
#endif
typedef struct { intmax_t quot; intmax_t rem; } imaxdiv_t;
#endif
