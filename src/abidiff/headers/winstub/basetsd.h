/* abidiff's stand-in for the Windows SDK's <basetsd.h>: the sized integer types it
   defines, with the widths of the LLP64 data model (MSVC x64 and x86). */
#ifndef ABIDIFF_WINSTUB_BASETSD_H
#define ABIDIFF_WINSTUB_BASETSD_H
typedef signed char INT8;
typedef unsigned char UINT8;
typedef short INT16;
typedef unsigned short UINT16;
typedef int INT32;
typedef unsigned int UINT32;
typedef __int64 INT64;
typedef unsigned __int64 UINT64;
typedef int LONG32;
typedef unsigned int ULONG32;
typedef __int64 LONG64;
typedef unsigned __int64 ULONG64;
#ifdef _WIN64
typedef __int64 INT_PTR;
typedef unsigned __int64 UINT_PTR;
typedef __int64 LONG_PTR;
typedef unsigned __int64 ULONG_PTR;
#else
typedef int INT_PTR;
typedef unsigned int UINT_PTR;
typedef long LONG_PTR;
typedef unsigned long ULONG_PTR;
#endif
typedef ULONG_PTR SIZE_T;
typedef LONG_PTR SSIZE_T;
typedef ULONG_PTR DWORD_PTR;
#endif
