/* abidiff winstub: <wchar.h> of the UCRT: wchar_t is 16 bits on Windows. */
#ifndef ABIDIFF_WINSTUB_WCHAR_H
#define ABIDIFF_WINSTUB_WCHAR_H
#include <stddef.h>
#include <stdio.h>
typedef unsigned short wint_t;
typedef struct _Mbstatet { unsigned long _Wchar; unsigned short _Byte, _State; } mbstate_t;
#define WEOF ((wint_t)0xFFFF)
#define WCHAR_MIN 0x0000
#define WCHAR_MAX 0xffff
size_t wcslen(const wchar_t *string);
int wcscmp(const wchar_t *a, const wchar_t *b);
wchar_t *wcscpy(wchar_t *dest, const wchar_t *src);
wchar_t *wcschr(const wchar_t *string, wchar_t value);
#endif
