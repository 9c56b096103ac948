// Package samples holds sample lead texts in the portal's languages for
// benchmarks and load tests.
package samples

import "github.com/leadworker/leadworker"

// Sample customers and needs, in the portal's languages, taken from the
// shared lead fixtures: benchmarks and load tests cycle through them.
var (
	Customers = []leadworker.Customer{
		{Company: "Woodgrove 銀行", Name: "鈴木 一郎", Country: "JP"},
		{Company: "Contoso 株式会社", Name: "佐藤 花子", Country: "JP"},
		{Company: "Tailspin Toys Japan", Name: "鈴木 一郎", Country: "JP"},
		{Company: "Wingtip 科技", Name: "林 志明", Country: "TW"},
		{Company: "Proseware 台北", Name: "陳 美玲", Country: "TW"},
		{Company: "ООО Contoso", Name: "Анна Иванова", Country: "RU"},
		{Company: "Alpine Ski House Москва", Name: "Сергей Петров", Country: "RU"},
		{Company: "Trey Research", Name: "Kim Abercrombie", Country: "US"},
		{Company: "Margie's Travel", Name: "Dan Park", Country: "US"},
	}
	Needs = []string{
		"需要 Dynamics 365 導入顧問",
		"Teams のライセンス 200 席の見積もり",
		"Migrate 40 VMs to the cloud",
		"Security assessment for our tenant",
		"Free trial follow-up for analytics offer",
		"Нужна помощь с миграцией SQL Server",
	}
)
