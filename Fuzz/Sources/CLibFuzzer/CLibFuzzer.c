// Only a header: LLVMFuzzerRunDriver comes from the compiler's libFuzzer runtime (-sanitize=fuzzer).
#include "CLibFuzzer.h"
