/* abidiff winstub: <assert.h>: assertions have no effect on declarations or layouts. */
#undef assert
#define assert(expression) ((void)0)
#ifndef static_assert
#define static_assert _Static_assert
#endif
