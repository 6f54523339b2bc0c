"""One program per language and behaviour, for the language tests: each reads two integers and
prints their sum (``ac``), prints a wrong sum (``wa``), does not compile (``ce``), fails at run
time in the language's usual way (``re``), loops forever (``tle``) or allocates and touches
memory until it runs out (``mle``)."""

from __future__ import annotations

PROGRAMS: dict[str, dict[str, str]] = {
    "python": {
        "ac": "a, b = map(int, input().split())\nprint(a + b)\n",
        "wa": "a, b = map(int, input().split())\nprint(a - b)\n",
        "ce": "def broken(:\n    pass\n",
        "re": "raise ValueError('boom')\n",
        "tle": "while True:\n    pass\n",
        "mle": "blocks = []\nwhile True:\n    blocks.append(bytearray(1 << 24))\n",
    },
    "pypy": {
        "ac": "a, b = map(int, input().split())\nprint(a + b)\n",
        "wa": "a, b = map(int, input().split())\nprint(a - b)\n",
        "ce": "def broken(:\n    pass\n",
        "re": "raise ValueError('boom')\n",
        "tle": "while True:\n    pass\n",
        "mle": "blocks = []\nwhile True:\n    blocks.append(bytearray(1 << 24))\n",
    },
    "c": {
        "ac": '#include <stdio.h>\nint main(void){long a,b;scanf("%ld %ld",&a,&b);printf("%ld\\n",a+b);return 0;}\n',
        "wa": '#include <stdio.h>\nint main(void){long a,b;scanf("%ld %ld",&a,&b);printf("%ld\\n",a-b);return 0;}\n',
        "ce": "int main(void){ return undeclared_name; }\n",
        "re": "#include <stdio.h>\nint main(void){int *p=0; printf(\"%d\\n\", *p);"
              " return 0;}\n",
        "tle": "int main(void){volatile unsigned long i=0; for(;;) i++; return 0;}\n",
        "mle": ("#include <stdlib.h>\n#include <string.h>\n"
                "int main(void){for(;;){char *p=malloc(1<<24); if(!p) return 3; memset(p,1,1<<24);} }\n"),
    },
    "cpp": {
        "ac": "#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<'\\n';}\n",
        "wa": "#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a-b<<'\\n';}\n",
        "ce": "#include <iostream>\nint main(){ std::cout << undeclared_name; }\n",
        "re": "#include <stdexcept>\nint main(){ throw std::runtime_error(\"boom\"); }\n",
        "tle": "int main(){volatile unsigned long i=0; for(;;) i++; }\n",
        "mle": ("#include <vector>\n#include <cstring>\nint main(){std::vector<char*> v;"
                " for(;;){char *p=new char[1<<24]; std::memset(p,1,1<<24); v.push_back(p);} }\n"),
    },
    "java": {
        "ac": ("import java.util.*;\npublic class Sum { public static void main(String[] args) {"
               " Scanner s = new Scanner(System.in); System.out.println(s.nextLong() + s.nextLong()); } }\n"),
        "wa": ("import java.util.*;\npublic class Sum { public static void main(String[] args) {"
               " Scanner s = new Scanner(System.in); System.out.println(s.nextLong() - s.nextLong()); } }\n"),
        "ce": "public class Main { public static void main(String[] args) { int x = undeclaredName; } }\n",
        "re": ("public class Main { public static void main(String[] args) {"
               " throw new IllegalStateException(\"boom\"); } }\n"),
        "tle": "public class Main { public static void main(String[] args) { long i = 0; while (true) { i++; } } }\n",
        "mle": ("import java.util.*;\npublic class Main { public static void main(String[] args) {"
                " List<long[]> v = new ArrayList<>(); while (true) { long[] a = new long[1 << 21];"
                " Arrays.fill(a, 1); v.add(a); } } }\n"),
    },
    "javascript": {
        "ac": ("const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\n"
               "console.log(a + b);\n"),
        "wa": ("const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\n"
               "console.log(a - b);\n"),
        "ce": "function broken( {\n",
        "re": "throw new Error('boom');\n",
        "tle": "let i = 0;\nwhile (true) { i++; }\n",
        "mle": "const v = [];\nwhile (true) { v.push(new Array(1 << 20).fill(1.5)); }\n",
    },
    "go": {
        "ac": 'package main\nimport "fmt"\nfunc main() { var a, b int64; fmt.Scan(&a, &b); fmt.Println(a + b) }\n',
        "wa": 'package main\nimport "fmt"\nfunc main() { var a, b int64; fmt.Scan(&a, &b); fmt.Println(a - b) }\n',
        "ce": "package main\nfunc main() { undeclaredName() }\n",
        "re": 'package main\nfunc main() { panic("boom") }\n',
        "tle": "package main\nfunc main() { i := 0; for { i++ } }\n",
        "mle": ("package main\nimport \"fmt\"\nfunc main() { var v [][]byte; for { b := make([]byte, 1<<24);"
                " for i := range b { b[i] = 1 }; v = append(v, b); if len(v) < 0 { fmt.Println() } } }\n"),
    },
    "rust": {
        "ac": ("use std::io::Read;\nfn main() { let mut s = String::new(); std::io::stdin().read_to_string(&mut s)"
               ".unwrap(); let v: Vec<i64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();"
               " println!(\"{}\", v[0] + v[1]); }\n"),
        "wa": ("use std::io::Read;\nfn main() { let mut s = String::new(); std::io::stdin().read_to_string(&mut s)"
               ".unwrap(); let v: Vec<i64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();"
               " println!(\"{}\", v[0] - v[1]); }\n"),
        "ce": "fn main() { let x: i32 = undeclared_name; }\n",
        "re": "fn main() { panic!(\"boom\"); }\n",
        "tle": ("fn main() { let mut i: u64 = 1; loop { i = i.wrapping_mul(6364136223846793005).wrapping_add(1);"
                " if i == 7 { break; } } println!(\"{}\", i); }\n"),
        "mle": ("fn main() { let mut v: Vec<Vec<u8>> = Vec::new(); loop { v.push(vec![1u8; 1 << 24]);"
                " if v.len() == usize::MAX { println!(\"{}\", v[0][0]); } } }\n"),
    },
}

#: What the compiler's diagnostic of each ``ce`` program must mention.
CE_MENTIONS = {
    "python": "SyntaxError", "pypy": "SyntaxError", "c": "undeclared_name", "cpp": "undeclared_name",
    "java": "undeclaredName", "javascript": "SyntaxError", "go": "undeclaredName", "rust": "undeclared_name",
}
