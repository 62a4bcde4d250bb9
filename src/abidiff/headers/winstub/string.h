/* abidiff winstub: <string.h> of the UCRT (the declarations CPython's headers use). */
#ifndef ABIDIFF_WINSTUB_STRING_H
#define ABIDIFF_WINSTUB_STRING_H
#include <stddef.h>
void *memcpy(void *dest, const void *src, size_t size);
void *memmove(void *dest, const void *src, size_t size);
void *memset(void *dest, int value, size_t size);
int memcmp(const void *a, const void *b, size_t size);
void *memchr(const void *block, int value, size_t size);
size_t strlen(const char *string);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t size);
char *strcpy(char *dest, const char *src);
char *strncpy(char *dest, const char *src, size_t size);
char *strchr(const char *string, int value);
char *strrchr(const char *string, int value);
char *strstr(const char *string, const char *needle);
char *strerror(int error);
#endif
