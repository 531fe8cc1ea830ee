// Package seeds holds small state machine definitions used as seeds by the
// fuzz targets and as examples in tests.
package seeds

// Definitions returns seed definitions covering every state type.
func Definitions() []string {
	return []string{
		`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"k.$":"States.Format('{}-{}', $.a, $.s)","l.$":"$.xs[1]","c.$":"$$.Execution.Name"},"ResultPath":"$.r","OutputPath":"$.r","Next":"B"},"B":{"Type":"Succeed"}}}`,
		`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","NumericGreaterThan":0},{"Not":{"Variable":"$.s","StringMatches":"y*"}}],"Next":"P"}],"Default":"F"},"P":{"Type":"Pass","End":true},"F":{"Type":"Fail","Error":"E","Cause":"c"}}}`,
		`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["Boom"],"MaxAttempts":2,"BackoffRate":1.5,"JitterStrategy":"FULL"}],"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"D"}],"TimeoutSeconds":3,"End":true},"D":{"Type":"Pass","End":true}}}`,
		`{"StartAt":"Fail","States":{"Fail":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["Boom"],"Next":"D"}],"End":true},"D":{"Type":"Pass","End":true}}}`,
		`{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.a","Next":"X"},"X":{"Type":"Wait","Timestamp":"2016-03-14T01:59:00Z","End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}},{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"r","End":true}}}],"ResultSelector":{"first.$":"$[0]"},"End":true}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","MaxConcurrency":2,"ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"End":true}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","ToleratedFailurePercentage":50,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"I","States":{"I":{"Type":"Fail","Error":"X"}}},"End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"v.$":"$.a","w":[1,2]},"Next":"B"},"B":{"Type":"Pass","Parameters":{"v.$":"$v","w.$":"$w[1]","n.$":"States.ArrayLength($w)"},"End":true}}}`,
		`{"StartAt":"L","States":{"L":{"Type":"Pass","Parameters":{"a.$":"$","b.$":"$"},"Next":"L"}}}`,
		`{"Comment":"x","TimeoutSeconds":10,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"Next":"W"}}}`,
	}
}
