/* abidiff winstub: <stdio.h> of the UCRT (the declarations CPython's headers use). */
#ifndef ABIDIFF_WINSTUB_STDIO_H
#define ABIDIFF_WINSTUB_STDIO_H
#include <stddef.h>
#include <stdarg.h>
typedef struct _iobuf { void *_Placeholder; } FILE;
typedef long long fpos_t;
#define EOF (-1)
#define BUFSIZ 512
#define FILENAME_MAX 260
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
FILE *__acrt_iob_func(unsigned index);
#define stdin (__acrt_iob_func(0))
#define stdout (__acrt_iob_func(1))
#define stderr (__acrt_iob_func(2))
int printf(const char *format, ...);
int fprintf(FILE *stream, const char *format, ...);
int sprintf(char *buffer, const char *format, ...);
int snprintf(char *buffer, size_t count, const char *format, ...);
int vfprintf(FILE *stream, const char *format, va_list args);
int vsnprintf(char *buffer, size_t count, const char *format, va_list args);
int fputs(const char *str, FILE *stream);
int fflush(FILE *stream);
FILE *fopen(const char *filename, const char *mode);
int fclose(FILE *stream);
#endif
