/* abidiff winstub: <stdlib.h> of the UCRT (the declarations CPython's headers use). */
#ifndef ABIDIFF_WINSTUB_STDLIB_H
#define ABIDIFF_WINSTUB_STDLIB_H
#include <stddef.h>
#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#define RAND_MAX 0x7fff
#define _MAX_PATH 260
void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *block, size_t size);
void free(void *block);
void abort(void);
void exit(int status);
int abs(int value);
long labs(long value);
long long llabs(long long value);
char *getenv(const char *name);
long strtol(const char *string, char **end, int radix);
unsigned long strtoul(const char *string, char **end, int radix);
double strtod(const char *string, char **end);
typedef struct { int quot; int rem; } div_t;
typedef struct { long quot; long rem; } ldiv_t;
#endif
