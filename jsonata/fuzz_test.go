package jsonata

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	`Account.Order.Product.Price`,
	`Account.Order[0].Product[ProductID=858383].Description.Colour`,
	`$sum(Account.Order.Product.(Price * Quantity))`,
	`Account.Order.Product{Description.Colour: $sum(Price)}`,
	`Account.Order#$o.Product@$p[$o > 0].{"o": $o, "n": $p.SKU}`,
	`**.Price[$ > 30]`,
	`Account.Order.Product.%.OrderID`,
	`Account.Order.Product^(>Price, <SKU)`,
	`[1..5].($ * 2)[$ > 4]`,
	`($f := function($n){$n <= 1 ? 1 : $n * $f($n - 1)}; $f(10))`,
	`($f := function($n, $a){$n = 0 ? $a : $f($n - 1, $a + $n)}; $f(500, 0))`,
	`$map([1,2,3], function($v, $i){$v + $i})`,
	`$reduce([1,2,3,4], function($a, $b){$a + $b}, 10)`,
	`$filter(Account.Order.Product, function($p){$p.Price > 30}).SKU`,
	`$sort(Account.Order.Product, function($a, $b){$a.Price > $b.Price}).Price`,
	`$string({"a": [1, 2.5, true, null, "x"]}, true)`,
	`$replace("hello world", /o(.)/i, "$1$0")`,
	`$split("a,b;c", /[,;]/)`,
	`$match("2026-11-22", /(\d+)-(\d+)-(\d+)/).groups`,
	`$formatNumber(12345.678, "#,##0.00;(#)")`,
	`$formatInteger(1999, "W")`,
	`$parseInteger("MCMXCIX", "I")`,
	`$fromMillis(1795341600000, "[Y0001]-[M01]-[D01] [H01]:[m01] [ZN]", "+0530")`,
	`$toMillis("22/11/2026", "[D]/[M]/[Y]")`,
	`$ ~> |Account.Order.Product|{"Total": Price * Quantity}, ["Description"]|`,
	`$substring("héllo wörld", -5, 3) & $uppercase("straße")`,
	`$eval("1 + $x", {"x": 2})`,
	`$spread({"a": 1, "b": 2}) ~> $merge()`,
	`$each({"a": 1}, function($v, $k){$k & $v})`,
	`$zip([1,2],[3,4],[5])`,
	`$distinct([1, "1", 1, [1], [1]])`,
	`$lookup({"a": {"b": 1}}, "a").b ?? "none"`,
	`(x ?: y) ? "t" : "f"`,
	`"a" in ["a", "b"] and not(false) or $boolean([])`,
	`$keys(Account.Order[0]) ~> $join(",")`,
	`$base64decode($base64encode("héllo"))`,
	`$encodeUrlComponent("a b&c") & $decodeUrl("%41%3B")`,
	`$round(2.5) + $floor(-1.5) + $ceil(1.2) + $abs(-3) + $power(2, 10) + $sqrt(16)`,
	`λ($a, $b)<nn:n>{$a + $b}(1, 2)`,
	`$single([1,2,3], function($v){$v = 2})`,
	`{"a": 1}.% `,
	`[[1,2],[3]].$[0]`,
	`/* comment */ $exists(nothing)`,
	`$number("0x1F") + $number(true)`,
	`$pad("x", -5, "#") & $trim("  a   b  ")`,
	`$assert(1 = 1, "ok")`,
	`$shuffle([1]) ~> $reverse() ~> $append(2)`,
	`$sift({"a": 1, "b": 2}, function($v){$v > 1})`,
	`Account.Order.Product.[Price, Quantity]`,
	"`Account`.Order[-1].OrderID",
}

const fuzzInput = `{"Account":{"Account Name":"Firefly","Order":[{"OrderID":"order103","Product":[{"Product Name":"Bowler Hat","ProductID":858383,"SKU":"0406654608","Description":{"Colour":"Purple","Width":300,"Height":200,"Depth":210,"Weight":0.75},"Price":34.45,"Quantity":2},{"Product Name":"Trilby hat","ProductID":858236,"SKU":"0406634348","Description":{"Colour":"Orange","Width":300,"Height":200,"Depth":210,"Weight":0.6},"Price":21.67,"Quantity":1}]},{"OrderID":"order104","Product":[{"Product Name":"Bowler Hat","ProductID":858383,"SKU":"040657863","Description":{"Colour":"Purple","Width":300,"Height":200,"Depth":210,"Weight":0.75},"Price":34.45,"Quantity":4},{"ProductID":345664,"SKU":"0406654603","Product Name":"Cloak","Description":{"Colour":"Black","Width":30,"Height":20,"Depth":210,"Weight":2},"Price":107.99,"Quantity":1}]}]},"x":1,"y":[1,2,3]}`

// FuzzCompileEval feeds arbitrary expressions through Compile and Eval.
// Any panic (reported as U1000 by the recovery at the API boundary), any
// error that is not an *Error, or an evaluation that outlives its limits
// is a finding.
func FuzzCompileEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	input, err := decodeJSON([]byte(fuzzInput))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		cstart := time.Now()
		e, err := Compile(src)
		if d := time.Since(cstart); d > 2*time.Second {
			t.Fatalf("Compile(%q) took %v", src, d)
		}
		if err != nil {
			var je *Error
			if !errors.As(err, &je) || je.Code == "U1000" || je.Code == "" {
				t.Fatalf("Compile(%q): bad error %v", src, err)
			}
			return
		}
		start := time.Now()
		env := &Env{MaxSteps: 200_000, MaxDepth: 300, Deadline: start.Add(2 * time.Second)}
		_, err = e.Eval(input, env)
		if d := time.Since(start); d > 300*time.Millisecond && os.Getenv("JSONATA_FUZZ_SLOWLOG") != "" {
			if fh, err := os.OpenFile(os.Getenv("JSONATA_FUZZ_SLOWLOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				fmt.Fprintf(fh, "%v\t%q\n", d, src)
				fh.Close()
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Eval(%q) ran %v despite limits", src, d)
		}
		if err != nil {
			var je *Error
			if !errors.As(err, &je) || je.Code == "U1000" || je.Code == "" {
				t.Fatalf("Eval(%q): bad error %v", src, err)
			}
		}
	})
}
