# bcryptprimitives.dll with the one function Wine 8.0 lacks: ProcessPrng.
# Rust's standard library (inside cryptography's _rust.pyd) draws its random
# bytes from bcryptprimitives.dll!ProcessPrng(buf, len) and the module fails to
# load without it. We forward to BCryptGenRandom(NULL, buf, len,
# BCRYPT_USE_SYSTEM_PREFERRED_RNG), which Wine has, and return TRUE as
# ProcessPrng always does. Windows x64 calling convention: arguments in
# rcx, rdx, r8, r9; the caller reserves 32 bytes of shadow space.
        .text
        .globl  ProcessPrng
ProcessPrng:
        subq    $40, %rsp                   # shadow space, and rsp 16-aligned at the call
        movq    %rdx, %r8                   # cbBuffer = len
        movq    %rcx, %rdx                  # pbBuffer = buf
        xorl    %ecx, %ecx                  # hAlgorithm = NULL
        movl    $2, %r9d                    # dwFlags = BCRYPT_USE_SYSTEM_PREFERRED_RNG
        call    *__imp_BCryptGenRandom(%rip)
        movl    $1, %eax                    # TRUE
        addq    $40, %rsp
        ret

        .globl  DllMain
DllMain:                                    # nothing to set up or tear down
        movl    $1, %eax
        ret
