BEGIN TRANSACTION;
CREATE TABLE "Artist" (
  "Artist_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Genre" TEXT,
  "Country" TEXT,
  "Debut_Year" INTEGER
);
INSERT INTO "Artist" VALUES(1,'Juno Park','Latin','United Kingdom',2011);
INSERT INTO "Artist" VALUES(2,'Static Orchard','Latin','Germany',1999);
INSERT INTO "Artist" VALUES(3,'Neon Harbor','Jazz','Netherlands',2018);
INSERT INTO "Artist" VALUES(4,'Quiet Engines','Folk','Australia',NULL);
INSERT INTO "Artist" VALUES(5,'Sol Marin','Indie Rock','Estonia',2013);
INSERT INTO "Artist" VALUES(6,'Lumen Drift','Indie Rock','Canada',2021);
INSERT INTO "Artist" VALUES(7,'Mara Quinlan','Folk','South Africa',2020);
INSERT INTO "Artist" VALUES(8,'Brass Lantern Collective','Afrobeat','Ireland',2016);
INSERT INTO "Artist" VALUES(9,'Rosa Calderon','Pop','Canada',2010);
INSERT INTO "Artist" VALUES(10,'The Hollow Pines','Pop','United States',2019);
INSERT INTO "Artist" VALUES(11,'Northbound Echo','Indie Rock','Spain',2015);
INSERT INTO "Artist" VALUES(12,'Dust & Denim','Electronic','United States',2004);
INSERT INTO "Artist" VALUES(13,'Ilya Sorokin Trio','Jazz','Sweden',2009);
INSERT INTO "Artist" VALUES(14,'Kaya Mbeki','Electronic','South Korea',2007);
INSERT INTO "Artist" VALUES(15,'Paper Satellites','Electronic','Colombia',2014);
INSERT INTO "Artist" VALUES(16,'The Velvet Tides','Country','United States',2012);
CREATE TABLE "Festival" (
  "Festival_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "City" TEXT,
  "Year" INTEGER,
  "Ticket_Price" REAL
);
INSERT INTO "Festival" VALUES(1,'Copper Valley Fest','Baymouth',2023,NULL);
INSERT INTO "Festival" VALUES(2,'Pinewood Sound','Brookvale',2024,70.0);
INSERT INTO "Festival" VALUES(3,'Lakeside Echoes','Port Alden',2022,64.0);
INSERT INTO "Festival" VALUES(4,'Sandbar Sessions','Greenfield',2022,92.5);
INSERT INTO "Festival" VALUES(5,'Lakeside Echoes','Lakeview',2023,120.0);
INSERT INTO "Festival" VALUES(6,'Midsummer Static','Port Alden',2023,135.0);
INSERT INTO "Festival" VALUES(7,'Harbor Nights','Lakeview',2024,85.0);
INSERT INTO "Festival" VALUES(8,'Harbor Nights','Greenfield',2021,110.0);
CREATE TABLE "Performance" (
  "Performance_ID" INTEGER PRIMARY KEY,
  "Artist_ID" INTEGER,
  "Stage_ID" INTEGER,
  "Day" INTEGER,
  "Duration_Minutes" INTEGER,
  "Audience" INTEGER,
  FOREIGN KEY ("Artist_ID") REFERENCES "Artist"("Artist_ID"),
  FOREIGN KEY ("Stage_ID") REFERENCES "Stage"("Stage_ID")
);
INSERT INTO "Performance" VALUES(1,12,11,3,75,4600);
INSERT INTO "Performance" VALUES(2,12,5,1,90,6900);
INSERT INTO "Performance" VALUES(3,4,3,3,45,10500);
INSERT INTO "Performance" VALUES(4,10,7,1,60,4300);
INSERT INTO "Performance" VALUES(5,4,8,3,60,6000);
INSERT INTO "Performance" VALUES(6,9,8,2,45,10900);
INSERT INTO "Performance" VALUES(7,8,9,2,90,NULL);
INSERT INTO "Performance" VALUES(8,3,4,1,30,7600);
INSERT INTO "Performance" VALUES(9,5,7,3,45,5300);
INSERT INTO "Performance" VALUES(10,14,5,3,30,9200);
INSERT INTO "Performance" VALUES(11,4,2,2,45,8500);
INSERT INTO "Performance" VALUES(12,4,9,3,90,2900);
INSERT INTO "Performance" VALUES(13,8,11,3,60,5900);
INSERT INTO "Performance" VALUES(14,2,6,1,60,6400);
INSERT INTO "Performance" VALUES(15,12,5,3,60,4200);
INSERT INTO "Performance" VALUES(16,8,2,1,45,9200);
INSERT INTO "Performance" VALUES(17,2,4,3,30,3300);
INSERT INTO "Performance" VALUES(18,5,7,2,60,5300);
INSERT INTO "Performance" VALUES(19,1,8,2,45,11200);
INSERT INTO "Performance" VALUES(20,4,1,1,30,4000);
INSERT INTO "Performance" VALUES(21,13,11,1,90,6800);
INSERT INTO "Performance" VALUES(22,12,7,2,75,900);
INSERT INTO "Performance" VALUES(23,12,9,3,75,NULL);
INSERT INTO "Performance" VALUES(24,14,11,2,75,11300);
INSERT INTO "Performance" VALUES(25,4,6,1,75,5600);
INSERT INTO "Performance" VALUES(26,14,2,2,45,7200);
INSERT INTO "Performance" VALUES(27,15,7,1,45,4600);
INSERT INTO "Performance" VALUES(28,7,6,2,60,4900);
INSERT INTO "Performance" VALUES(29,10,2,2,60,1500);
INSERT INTO "Performance" VALUES(30,4,2,3,30,5000);
CREATE TABLE "Stage" (
  "Stage_ID" INTEGER PRIMARY KEY,
  "Festival_ID" INTEGER,
  "Stage_Name" TEXT,
  "Capacity" INTEGER,
  FOREIGN KEY ("Festival_ID") REFERENCES "Festival"("Festival_ID")
);
INSERT INTO "Stage" VALUES(1,1,'Sunfield Main',5000);
INSERT INTO "Stage" VALUES(2,6,'Boathouse Tent',20000);
INSERT INTO "Stage" VALUES(3,2,'Night Garden',6500);
INSERT INTO "Stage" VALUES(4,5,'Pier Stage',4000);
INSERT INTO "Stage" VALUES(5,8,'Shoreline Stage',3500);
INSERT INTO "Stage" VALUES(6,3,'Moss Tent',9000);
INSERT INTO "Stage" VALUES(7,1,'Shoreline Stage',1200);
INSERT INTO "Stage" VALUES(8,4,'Copper Dome',8000);
INSERT INTO "Stage" VALUES(9,7,'Pier Stage',6000);
INSERT INTO "Stage" VALUES(10,6,'Dune Stage',2500);
INSERT INTO "Stage" VALUES(11,7,'Forest Clearing',1500);
INSERT INTO "Stage" VALUES(12,3,'Canyon Main',15000);
COMMIT;
